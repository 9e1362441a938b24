package gitlab

// The component, templates/docker-ecr-cache.yml, as its tests (and the
// option-table drift test) see it.

// ComponentFile is the GitLab CI/CD component, from the repository's root.
const ComponentFile = "templates/docker-ecr-cache.yml"

// ComponentJobInputs are the component's inputs that shape its job rather
// than set an option, in the order its spec lists them, before the options.
var ComponentJobInputs = []string{"job-name", "stage", "image", "services", "docker-host"}

// ComponentDefaults are the component's defaults, as text, where they
// differ from the engine's: the project's registry unless a provider is
// given, and no pull on a hit, since a later job runs in the image.
var ComponentDefaults = map[string]string{"registry-provider": "", "skip-pull-from-cache": "true"}
