package settings

import (
	"slices"
	"sort"
	"strings"
)

// UnknownEnvVar is an ORDERGUARD_* environment variable that names no
// setting: most often a typo (ORDERGUARD_MODEE=report) that would otherwise
// be ignored in silence. Suggest is the closest variable of known, when one
// is close.
type UnknownEnvVar struct {
	Name, Suggest string
}

// KnownEnv is the variable of every setting, then extra (the config file's,
// the secrets').
func KnownEnv(ss []Setting, extra ...string) []string {
	names := slices.Clone(extra)
	for _, s := range ss {
		names = append(names, Env(s.Name))
	}
	return names
}

// UnknownEnv returns the ORDERGUARD_* entries of environ (as os.Environ
// gives them, NAME=value) that are not in known, sorted. Only names are
// returned: a mistyped variable may hold a secret.
func UnknownEnv(environ, known []string) []UnknownEnvVar {
	var out []UnknownEnvVar
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || slices.Contains(known, name) {
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
