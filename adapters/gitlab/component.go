package gitlab

// The component, templates/docker-ecr-cache.yml, as its tests, the
// option-table drift test and its generator (internal/optionref) see it.

// ComponentFile is the GitLab CI/CD component, from the repository's root.
const ComponentFile = "templates/docker-ecr-cache.yml"

// ComponentJobInputs are the component's inputs that shape its job rather
// than set an option, in the order its spec lists them, before the options.
var ComponentJobInputs = []string{"job-name", "stage", "image", "services", "docker-host"}

// ComponentDefaults are the component's defaults, as text, where they
// differ from the engine's: the project's registry unless a provider is
// given, and no pull on a hit, since a later job runs in the image.
var ComponentDefaults = map[string]string{"registry-provider": "", "skip-pull-from-cache": "true"}

// ComponentNotes follow an option's usage in its input's description,
// where GitLab gives the option another default or meaning.
var ComponentNotes = map[string]string{
	"ecr-name":             " On GitLab: build-cache/<project path>.",
	"max-age-days":         " On the GitLab container registry, the project's cleanup policy does it without prune.",
	"registry-provider":    " On GitLab, empty: the project's container registry (registry, image $CI_REGISTRY_IMAGE/build-cache, the job's credential) when CI_REGISTRY is set.",
	"registry":             " On GitLab, empty: $CI_REGISTRY_IMAGE/build-cache.",
	"skip-pull-from-cache": " On GitLab, true: a later job runs in the image with image: $DOCKER_ECR_CACHE_IMAGE_REF.",
}

// JobVariable is the job's own variable, before the options' variables:
// docker-host, which the job's script exports as DOCKER_HOST when given.
const JobVariable = "DOCKER_ECR_CACHE_GITLAB_DOCKER_HOST"
