.PHONY: demo test lint bench build

build:
	go build -o bin/docker-ecr-cache ./cmd/docker-ecr-cache

demo:
	scripts/demo.sh

test:
	scripts/test.sh

lint:
	scripts/lint.sh

bench:
	bench/key.sh
	bench/hit.sh
