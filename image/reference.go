package image

import (
	"errors"
	"fmt"
	"strings"
)

// Reference is an image name as docker writes one:
//
//	[HOST[:PORT]/]PATH[:TAG][@DIGEST]
//
// busybox, busybox:1.36, library/busybox, localhost:5000/team/app:v2 and
// busybox@sha256:... Docker Hub is the default host, and its official
// images live under library/: busybox is docker.io/library/busybox:latest.
// (The rules of github.com/distribution/reference, written out: that
// package compiles its regular expressions when a program starts, which
// every container start would pay for.)
type Reference struct {
	Domain string // docker.io, localhost:5000
	Path   string // library/busybox, team/app
	Tag    string // latest when neither a tag nor a digest is given
	Digest string // sha256:..., or ""
}

const (
	defaultDomain = "docker.io"
	officialRepo  = "library/"
	defaultTag    = "latest"
)

// ErrBadReference is a name that is not an image reference.
var ErrBadReference = errors.New("invalid reference format")

// ParseReference reads ref with docker's rules and defaults.
func ParseReference(ref string) (Reference, error) {
	var r Reference
	bad := func(why string) (Reference, error) {
		return Reference{}, fmt.Errorf("%w: %q: %s", ErrBadReference, ref, why)
	}
	if ref == "" {
		return bad("empty")
	}
	name := ref
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name, r.Digest = name[:i], name[i+1:]
		if !validDigest(r.Digest) {
			return bad("a digest is sha256: and 64 hexadecimal digits")
		}
	}
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name, r.Tag = name[:i], name[i+1:]
		if !validTag(r.Tag) {
			return bad("a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'")
		}
	}
	r.Domain, r.Path = defaultDomain, name
	if i := strings.IndexByte(name, '/'); i >= 0 {
		first := name[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first {
			r.Domain, r.Path = first, name[i+1:]
			if !validDomain(r.Domain) {
				return bad("the registry host is not a host name with an optional :PORT")
			}
		}
	}
	if r.Domain == "index.docker.io" {
		r.Domain = defaultDomain
	}
	if r.Domain == defaultDomain && !strings.Contains(r.Path, "/") {
		r.Path = officialRepo + r.Path
	}
	if strings.ToLower(r.Path) != r.Path {
		return bad("repository name must be lowercase")
	}
	for _, component := range strings.Split(r.Path, "/") {
		if !validPathComponent(component) {
			return bad("a repository name is lower-case letters and digits, separated by '.', '_', '__' or '-', in components joined by '/'")
		}
	}
	if len(r.Name()) > 255 {
		return bad("repository name longer than 255 characters")
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag = defaultTag
	}
	return r, nil
}

// Name is the repository: docker.io/library/busybox.
func (r Reference) Name() string { return r.Domain + "/" + r.Path }

// String is the whole reference, as the store keeps it:
// docker.io/library/busybox:latest, or NAME@sha256:... for a digest.
func (r Reference) String() string {
	s := r.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// FamiliarName is the repository as docker shows it: busybox for Docker
// Hub's official images, team/app for its others, the host kept otherwise.
func (r Reference) FamiliarName() string {
	if r.Domain != defaultDomain {
		return r.Name()
	}
	return strings.TrimPrefix(r.Path, officialRepo)
}

// Familiar is the whole reference as docker shows it: busybox:latest.
func (r Reference) Familiar() string {
	s := r.FamiliarName()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// FamiliarString is the familiar form of a reference the store keeps.
func FamiliarString(ref string) string {
	r, err := ParseReference(ref)
	if err != nil {
		return ref
	}
	return r.Familiar()
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// validPathComponent: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
func validPathComponent(s string) bool {
	if s == "" || !isLowerAlnum(s[0]) || !isLowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if isLowerAlnum(c) {
			continue
		}
		// A separator: '.', '_', "__", or any run of '-'.
		j := i
		for j < len(s) && !isLowerAlnum(s[j]) {
			j++
		}
		sep := s[i:j]
		if sep != "." && sep != "_" && sep != "__" && strings.Trim(sep, "-") != "" {
			return false
		}
		i = j - 1
	}
	return true
}

// validTag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
func validTag(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isLowerAlnum(c) || c >= 'A' && c <= 'Z' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// validDomain: host name labels (letters, digits, inner '-') joined by
// '.', or an IPv6 address in brackets, then an optional :PORT.
func validDomain(s string) bool {
	host, port := s, ""
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.HasSuffix(s, "]") {
		host, port = s[:i], s[i+1:]
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return false
		}
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		return len(host) > 2 && strings.Trim(host[1:len(host)-1], "0123456789abcdefABCDEF:.") == ""
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// validDigest: sha256: and 64 lower-case hexadecimal digits.
func validDigest(s string) bool {
	hex, ok := strings.CutPrefix(s, "sha256:")
	return ok && isHex(hex, 64)
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}
