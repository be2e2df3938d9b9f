package index

import "strings"

// stopwords are left out of a text query when it has other words ("how do
// I create a template" searches for create and template), in the forms
// the analyzer gives them (lower case, English snowball stems).
var stopwords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about abov after again against all am an and ani any are as at be becaus been befor being
		below between both but by can could did do doe does doing down dure during each few for from further had has have
		having he her here hers herself him himself his how i if in into is it its itself just let me more most my myself
		no nor not of off on onc once onli only or other our ours ourselv out over own same she should so some such than
		that the their theirs them themselv then there these they this those through to too under until up veri very was
		we were what when where which while who whom whi why will with would you your yours yourself yourselv`) {
		m[w] = true
	}
	return m
}()

// WithoutStopwords drops stopwords from terms unless nothing else is left.
func WithoutStopwords(terms []string) []string {
	var out []string
	for _, t := range terms {
		if !stopwords[t] {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return terms
	}
	return out
}
