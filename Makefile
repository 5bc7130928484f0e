# stackctl — build, test and image targets. `make test` is what CI runs.
SHELL := /bin/bash
GO ?= go
# Packages whose code runs goroutines; they are tested under the race detector.
RACE_PKGS ?= ./...

.PHONY: all build deps docs test lint unit e2e images boxes boxes-down fuzz bench demo clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/stackctl ./cmd/stackctl

lint:
	@out="$$(gofmt -l $$(git ls-files '*.go' | grep -v '^tools/'))"; \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./...

unit:
	$(GO) test -race -count=1 $(RACE_PKGS)

# Installs what a fresh Debian machine lacks (debootstrap, wrk, ...) and
# starts Docker; says so in one line when there is nothing to do.
deps:
	bash scripts/deps.sh

images: deps
	bash scripts/images.sh

# Test machines: N boxes, each a Docker engine at its own address on a
# private network; prints "NAME tcp://IP:2375" per box (docs/boxes.md).
N ?= 3
boxes: deps
	bash scripts/boxes.sh up $(N)

boxes-down:
	bash scripts/boxes.sh down

e2e: images
	$(GO) test -tags e2e -count=1 -p 1 -timeout 45m ./...

# The whole suite: static checks, unit tests under -race, then end-to-end
# tests against the real Docker engine, Consul and nginx.
test: deps lint unit e2e

fuzz:
	$(GO) test ./spec -run '^$$' -fuzz FuzzLoad -fuzztime $${FUZZTIME:-10m}

bench:
	$(GO) test ./spec -run '^$$' -bench . -benchmem

# Redraws docs/img: the stack diagram, and Consul UI screenshots of the
# running demo (make demo first).
docs:
	bash scripts/docs.sh

demo: images build
	./bin/stackctl apply -f stack.example.yaml --auto-approve

clean:
	rm -rf bin
