# mydocker: `make` builds ./mydocker, `make test` runs every test (as root).
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# urfave/cli's man-page generator (and its markdown library) is never used:
# leaving it out saves half a millisecond of start-up in every process.
TAGS    := urfave_cli_no_docs

.PHONY: all build test test-cgroup2 check unit e2e demo image debian-image bench clean

all: build

# mydocker, and beside it mydocker-registry, the registry client its pull,
# push and login run (kept out of mydocker: docs/registries.md), and
# mydocker-runc, a link to mydocker that speaks runc's command line
# (docs/oci-runtime.md).
build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags $(TAGS) -ldflags '$(LDFLAGS)' -o mydocker .
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o mydocker-registry ./cmd/mydocker-registry
	ln -sf mydocker mydocker-runc

# The whole suite: formatting, vet, unit tests, end-to-end tests. The
# end-to-end tests need root; for another user they skip (CI=true makes
# that a failure).
test: check
	$(GO) test -count=1 -timeout 40m ./...

# The cgroup end-to-end tests again, in a small VM booted on a cgroup v2
# kernel (this kind of host is v1 and cannot switch): scripts/cgroup2-vm.sh.
test-cgroup2:
	./scripts/cgroup2-vm.sh

check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum not tidy: run go mod tidy"; $(GO) mod tidy -diff; exit 1; }

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /tests/)

e2e:
	$(GO) test -count=1 -v ./tests/e2e/

# The busybox image tarball, from Debian's busybox-static (installed with
# apt-get when missing, so run as root):
#   sudo ./mydocker import --change 'CMD ["sh"]' busybox.tar busybox
image: busybox.tar

busybox.tar: scripts/make-busybox-image.sh
	./scripts/make-busybox-image.sh $@

# A real distribution: Debian minbase by debootstrap, as a gzip tarball
# (the end-to-end tests build and cache their own in .cache/).
debian-image: debian.tar.gz

debian.tar.gz: scripts/make-debian-image.sh
	./scripts/make-debian-image.sh $@

# Start-up speed against unshare, bwrap, crun and runc (scripts/bench.sh).
bench:
	./scripts/bench.sh

demo: build
	./scripts/book-demo.sh

clean:
	rm -rf mydocker mydocker-registry busybox.tar debian.tar.gz .vm .bench .cache
