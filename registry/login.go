package registry

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// dockerHubServer is the key docker keeps Docker Hub's credentials under.
const dockerHubServer = "https://index.docker.io/v1/"

// serverKey is the name docker's config.json keeps server's credentials
// under, and the registry to ask.
func serverKey(server string, o Options) (string, name.Registry, error) {
	host := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://"), "/")
	if host == "" || host == "docker.io" || host == "index.docker.io" || strings.HasPrefix(host, "index.docker.io/") || host == "registry-1.docker.io" {
		reg, err := name.NewRegistry("index.docker.io")
		return dockerHubServer, reg, err
	}
	var opts []name.Option
	if o.insecure(host) {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, append(opts, name.StrictValidation)...)
	return host, reg, err
}

// Login checks user and password against server (docker's default:
// Docker Hub) and keeps them as docker does, in $DOCKER_CONFIG/config.json
// (~/.docker by default, mode 0600), or in its credsStore or the server's
// credHelpers when it names one: docker and mydocker then share them.
func Login(ctx context.Context, server, user, password string, o Options) error {
	key, reg, err := serverKey(server, o)
	if err != nil {
		return fmt.Errorf("login %s: %w", server, err)
	}
	if user == "" || password == "" {
		return fmt.Errorf("login %s: a user name and a password are needed", key)
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: user, Password: password})
	t, err := transport.NewWithContext(ctx, reg, auth, httpTransport(o.insecure(reg.RegistryStr())), []string{reg.Scope(transport.PullScope)})
	if err != nil {
		return loginError(key, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.Scheme()+"://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return loginError(key, err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("login to %s: unauthorized: wrong user name or password", key)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("login to %s: the registry answered %s", key, resp.Status)
	}
	cf, err := config.Load(config.Dir())
	if err != nil {
		return fmt.Errorf("docker's config: %w", err)
	}
	if err := cf.GetCredentialsStore(key).Store(types.AuthConfig{Username: user, Password: password, ServerAddress: key}); err != nil {
		return fmt.Errorf("keep the credentials of %s: %w", key, err)
	}
	if err := cf.Save(); err != nil {
		return fmt.Errorf("keep the credentials of %s: %w", key, err)
	}
	fmt.Fprintln(o.Out, "Login Succeeded")
	return nil
}

// loginError never repeats the password: transport errors name the URL
// and the status, not the credentials.
func loginError(key string, err error) error {
	if te, ok := err.(*transport.Error); ok && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("login to %s: unauthorized: wrong user name or password", key)
	}
	return fmt.Errorf("login to %s: %v", key, err)
}

// Logout removes server's credentials from where docker keeps them.
func Logout(server string, o Options) error {
	key, _, err := serverKey(server, o)
	if err != nil {
		return fmt.Errorf("logout %s: %w", server, err)
	}
	cf, err := config.Load(config.Dir())
	if err != nil {
		return fmt.Errorf("docker's config: %w", err)
	}
	if _, ok := cf.AuthConfigs[key]; !ok && cf.CredentialsStore == "" && cf.CredentialHelpers[key] == "" {
		fmt.Fprintf(o.Out, "Not logged in to %s\n", key)
		return nil
	}
	fmt.Fprintf(o.Out, "Removing login credentials for %s\n", key)
	if err := cf.GetCredentialsStore(key).Erase(key); err != nil {
		return fmt.Errorf("remove the credentials of %s: %w", key, err)
	}
	return cf.Save()
}
