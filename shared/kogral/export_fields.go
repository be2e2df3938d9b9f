package kogral

// NodeFields and EdgeFields select a node and an edge as Node and Edge
// decode them: for stores of Kogral's tables outside this package (the
// export jobs', package exportjob).
const (
	NodeFields = nodeFields
	EdgeFields = edgeFields
)
