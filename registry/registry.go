// Package registry is mydocker's registry client: pull, push, login and
// logout over the OCI distribution API, with
// github.com/google/go-containerregistry for the protocol, the
// authentication flows, docker's credentials and platforms.
//
// It is linked into mydocker-registry, a helper executable beside
// mydocker, never into mydocker itself: go-containerregistry brings
// net/http, TLS and docker's config code, whose package initialisation
// every container start would pay for (docs/registries.md), as git keeps
// https out of git itself in git-remote-https. mydocker's pull, push,
// login and logout commands run the helper.
package registry

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/mydocker/mydocker/image"
)

// Options are what every registry command takes.
type Options struct {
	// Insecure are the registry hosts (HOST[:PORT]) that may be reached
	// by plain http or with a certificate that is not trusted, as
	// docker's insecure-registries. Loopback hosts always may.
	Insecure []string
	Out      io.Writer // what docker prints on stdout
	Terminal bool      // Out is a terminal: progress in place
	Quiet    bool
}

// insecure reports whether host may be reached without trusted TLS.
func (o Options) insecure(host string) bool {
	for _, h := range o.Insecure {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	hostname = strings.Trim(hostname, "[]")
	if hostname == "localhost" {
		return true
	}
	ip := net.ParseIP(hostname)
	return ip != nil && ip.IsLoopback()
}

// reference is r as go-containerregistry names it.
func (o Options) reference(r image.Reference) (name.Reference, error) {
	var opts []name.Option
	if o.insecure(r.Domain) {
		opts = append(opts, name.Insecure)
	}
	return name.ParseReference(r.String(), append(opts, name.StrictValidation)...)
}

// remoteOptions are the options of every request: docker's credentials
// (~/.docker/config.json, its helpers), ctx, the platform, and for an
// insecure host a transport that takes any certificate (docker's
// insecure-registries: https unchecked, then plain http).
func remoteOptions(ctx context.Context, platform *v1.Platform, insecure bool) []remote.Option {
	opts := []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithContext(ctx),
		remote.WithUserAgent("mydocker"), remote.WithTransport(httpTransport(insecure))}
	if platform != nil {
		opts = append(opts, remote.WithPlatform(*platform))
	}
	return opts
}

// ParsePlatform reads OS/ARCH[/VARIANT]; "" is this host's.
func ParsePlatform(s string) (*v1.Platform, error) {
	if s == "" {
		p := &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
		if runtime.GOARCH == "arm64" {
			p.Variant = "v8"
		}
		return p, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("invalid platform %q: want OS/ARCH[/VARIANT], as linux/amd64 or linux/arm/v7", s)
	}
	p := &v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// platformString is OS/ARCH[/VARIANT].
func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// httpTransport is go-containerregistry's default transport, taking any
// certificate when insecure.
func httpTransport(insecure bool) http.RoundTripper {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	if insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return t
}
