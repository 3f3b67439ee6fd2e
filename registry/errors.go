package registry

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/mydocker/mydocker/image"
)

// explain says in one line what a registry's refusal or a failed request
// means for ref, in docker's words where docker has some.
func explain(r image.Reference, err error) error {
	host := r.Domain
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("access to %s denied by %s: it does not exist, or needs a login ('mydocker login %s')", r.FamiliarName(), host, host)
		case http.StatusNotFound:
			for _, d := range terr.Errors {
				if d.Code == transport.NameUnknownErrorCode {
					return fmt.Errorf("repository %s not found on %s", r.FamiliarName(), host)
				}
			}
			return fmt.Errorf("manifest for %s not found on %s: manifest unknown", r.Familiar(), host)
		case http.StatusTooManyRequests:
			return fmt.Errorf("%s: too many requests to %s: try again later", r.Familiar(), host)
		}
		return fmt.Errorf("%s: %s answered %d: %v", r.Familiar(), host, terr.StatusCode, terr)
	}
	var x509err x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var opErr *net.OpError
	switch {
	case errors.As(err, &x509err), errors.As(err, &hostErr), strings.Contains(err.Error(), "tls:"), strings.Contains(err.Error(), "x509:"):
		return fmt.Errorf("%s: no trusted TLS connection to %s (%v); for a registry of your own without it, --insecure-registry %s", r.Familiar(), host, err, host)
	case errors.As(err, &opErr):
		return fmt.Errorf("%s: cannot reach the registry %s: %v", r.Familiar(), host, opErr.Err)
	}
	return fmt.Errorf("%s: %w", r.Familiar(), err)
}
