package engine

import (
	"strings"
)

// Secret is one build secret: its ID in the Dockerfile and where its value
// comes from, an environment variable or a file.
type Secret struct {
	ID  string
	Env string
	Src string
}

// ParseSecret reads a secrets entry: NAME is id=NAME,env=NAME; an entry
// starting id= is a docker --secret value (id=…,src=… or id=…,env=…). It
// checks that the value can be had, without reading it.
func ParseSecret(s string, getenv func(string) string) (Secret, error) {
	var sec Secret
	if !strings.Contains(s, "=") {
		sec = Secret{ID: s, Env: s}
	} else {
		for _, field := range strings.Split(s, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(field), "=")
			switch k {
			case "id":
				sec.ID = v
			case "env":
				sec.Env = v
			case "src", "source":
				sec.Src = v
			case "type":
				if v != "file" && v != "env" {
					return sec, Configf("secrets entry %q: type must be file or env", s)
				}
			default:
				return sec, Configf("secrets entry %q: unknown field %q: use NAME, or id=…,src=… or id=…,env=…", s, k)
			}
		}
	}
	switch {
	case sec.ID == "":
		return sec, Configf("secrets entry %q has no id: write NAME or id=NAME,env=VAR", s)
	case sec.Env == "" && sec.Src == "":
		sec.Env = sec.ID
	}
	if !envName.MatchString(sec.ID) && sec.Src == "" && sec.Env == sec.ID {
		return sec, Configf("secrets entry %q is not a variable name: write NAME or id=…,src=…", s)
	}
	if sec.Env != "" && getenv(sec.Env) == "" {
		return sec, Configf("secrets: %s is not set in the environment: export it before this step, or remove it from secrets", sec.Env)
	}
	return sec, nil
}
