.PHONY: demo test lint bench chart options build release-snapshot release-reproducible release-prepare action-image

build:
	go build -o bin/docker-ecr-cache ./cmd/docker-ecr-cache

demo:
	scripts/demo.sh

test:
	scripts/test.sh

lint:
	scripts/lint.sh

# docs/options.md, plugin.yml's properties and action.yml's inputs, from engine.Options.
options:
	go generate ./...

# Each writes its figures into docs/performance.md and bench/results/; the chart is drawn from those.
bench:
	bench/key.sh
	bench/startup.sh
	bench/hit.sh
	bench/ecr-hit.sh
	bench/action-start.sh
	go run ./bench/chart

chart:
	go run ./bench/chart

# The release's binaries and checksums.txt, built offline into dist/.
release-snapshot:
	scripts/release-snapshot.sh

# Two builds of HEAD compared byte for byte.
release-reproducible:
	scripts/release-reproducible.sh

# The release commit's changes: make release-prepare VERSION=v1.2.3
release-prepare:
	scripts/release-prepare.sh "$(VERSION)"

# The action's prebuilt image from dist/: make action-image IMAGE=name:tag
# (VARIANT=shell: the GitLab component's, with a static busybox)
action-image:
	IMAGE="$(IMAGE)" VARIANT="$(VARIANT)" scripts/action-image.sh
