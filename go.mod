module github.com/docker-ecr-cache/docker-ecr-cache

go 1.26.8

require (
	github.com/bmatcuk/doublestar/v4 v4.10.4
	github.com/itchyny/gojq v0.12.20
)

require github.com/itchyny/timefmt-go v0.1.9 // indirect
