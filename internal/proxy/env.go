package proxy

import (
	"sort"
	"strings"
)

// UnknownEnvVar is an ORDERGUARD_* environment variable that names no
// setting: most often a typo (ORDERGUARD_MODEE=report) that would otherwise
// be ignored in silence. Suggest is the closest variable orderguard serve
// reads, when one is close.
type UnknownEnvVar struct {
	Name, Suggest string
}

// KnownEnv lists every environment variable orderguard serve reads: one per
// setting, the config file's and the secrets'.
func KnownEnv() []string {
	var def Config
	names := []string{EnvConfig, EnvAPIKey, EnvInboundSecret, EnvAdminToken}
	for _, s := range settings(&def) {
		names = append(names, envName(s.name))
	}
	return names
}

// UnknownEnv returns the ORDERGUARD_* entries of environ (as os.Environ
// gives them, NAME=value) that name no setting, sorted. Only names are
// returned: a mistyped variable may hold a secret.
func UnknownEnv(environ []string) []UnknownEnvVar {
	known := KnownEnv()
	var out []UnknownEnvVar
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || contains(known, name) {
			continue
		}
		u := UnknownEnvVar{Name: name}
		best := 3 // at most two edits away, else no suggestion
		for _, k := range known {
			if d := editDistance(name, k); d < best {
				best, u.Suggest = d, k
			}
		}
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// editDistance is the Levenshtein distance of two short ASCII names.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
