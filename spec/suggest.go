package spec

import "strings"

// suggest returns the known name closest to a misspelt one, or "" when none
// is close enough to be a likely typo.
func suggest(name string, known []string) string {
	best, bestDist := "", -1
	lower := strings.ToLower(name)
	for _, k := range known {
		dist := levenshtein(lower, k)
		if bestDist < 0 || dist < bestDist {
			best, bestDist = k, dist
		}
	}
	// One edit in every three characters, at least one and at most three.
	limit := min(max(len(name)/3, 1), 3)
	if best == "" || bestDist > limit {
		return ""
	}
	return best
}

// levenshtein is the edit distance between a and b, counted in bytes (the
// field names it compares are ASCII), with swapping two neighbours counted
// as one edit, the commonest typo ("imgae"): the optimal string alignment
// variant of Levenshtein's distance.
func levenshtein(a, b string) int {
	if len(a) > 64 || len(b) > 64 { // nothing that long is a typo of a field name
		return max(len(a), len(b))
	}
	// rows[i%3] is row i of the usual table; a swap looks two rows back.
	var rows [3][]int
	for i := range rows {
		rows[i] = make([]int, len(b)+1)
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur, prev, prev2 := rows[i%3], rows[(i-1)%3], rows[(i+1)%3]
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
	}
	return rows[len(a)%3][len(b)]
}
