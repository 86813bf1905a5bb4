package redis

// globMatch reports whether s matches the Redis glob pattern p (*, ?,
// [abc], [^a-z], \x). It backtracks only to the last star, so its cost is
// bounded by len(p)*len(s).
func globMatch(p, s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch p[pi] {
			case '*':
				starP, starS = pi, si
				pi++
				continue
			case '?':
				pi++
				si++
				continue
			case '[':
				if end, ok := classMatch(p, pi, s[si]); ok {
					pi = end
					si++
					continue
				}
			case '\\':
				if pi+1 < len(p) && p[pi+1] == s[si] {
					pi += 2
					si++
					continue
				}
			default:
				if p[pi] == s[si] {
					pi++
					si++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		pi = starP + 1
		starS++
		si = starS
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// classMatch matches c against the class starting at p[i] == '['; it
// returns the index after the class and whether c matched.
func classMatch(p string, i int, c byte) (int, bool) {
	i++
	not := false
	if i < len(p) && p[i] == '^' {
		not = true
		i++
	}
	match := false
	for i < len(p) && p[i] != ']' {
		switch {
		case p[i] == '\\' && i+1 < len(p):
			i++
			if p[i] == c {
				match = true
			}
		case i+2 < len(p) && p[i+1] == '-' && p[i+2] != ']':
			lo, hi := p[i], p[i+2]
			if lo > hi {
				lo, hi = hi, lo
			}
			if c >= lo && c <= hi {
				match = true
			}
			i += 2
		default:
			if p[i] == c {
				match = true
			}
		}
		i++
	}
	if i < len(p) {
		i++ // the ']'
	}
	return i, match != not
}
