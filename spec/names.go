package spec

import (
	"net"
	"regexp"
	"strconv"
	"strings"
)

// A stack or service name becomes part of Docker container and network
// names, DNS names on the stack network and Consul service names, so it is
// held to the strictest of their rules: lowercase letters, digits and
// dashes, starting with a letter and (a DNS label) not ending with a dash.
var namePattern = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$`)

const nameRule = "1 to 40 lowercase letters, digits and dashes, starting with a letter and not ending with a dash"

func isName(s string) bool { return namePattern.MatchString(s) }

// maxContainerName is the longest container name allowed: containers are
// reached by name on the stack network, and a DNS label has at most 63
// characters.
const maxContainerName = 63

// reservedServiceNames are taken by the stack itself: the managed Consul
// server registers itself in its catalog as "consul".
var reservedServiceNames = []string{"consul"}

func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || isLetter(c) || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// imagePattern is Docker's image reference grammar (distribution/reference):
// [HOST[:PORT]/]PATH[:TAG][@DIGEST], the path in lowercase.
var imagePattern = func() *regexp.Regexp {
	const (
		alnum      = `[a-z0-9]+`
		separator  = `(?:[._]|__|[-]+)`
		component  = alnum + `(?:` + separator + alnum + `)*`
		domainPart = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
		domain     = `(?:` + domainPart + `(?:\.` + domainPart + `)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?`
		name       = `(?:` + domain + `/)?` + component + `(?:/` + component + `)*`
		tag        = `[\w][\w.-]{0,127}`
		digest     = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
	)
	return regexp.MustCompile(`^(` + name + `)(?::` + tag + `)?(?:@` + digest + `)?$`)
}()

const imageRule = "a Docker image reference like name:tag or host/name:tag, the name in lowercase"

func isImage(s string) bool {
	m := imagePattern.FindStringSubmatch(s)
	return m != nil && len(m[1]) <= 255
}

// checkAddress checks a host:port address, returning why it is not one.
func checkAddress(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "is not HOST:PORT"
	}
	if host == "" {
		return "has no host"
	}
	if net.ParseIP(host) == nil && !isHostname(host) {
		return "has an invalid host " + quote(host)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "has an invalid port " + quote(port)
	}
	return ""
}

func isHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c == '-' || isLetter(c) || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}
