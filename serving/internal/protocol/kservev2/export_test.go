package kservev2

// For the HTTP tests (package kservev2_test).
type RepositoryEntry = repositoryEntry

const (
	HeaderLengthHeader   = headerLengthHeader
	MaxIndexRequestBytes = maxIndexRequestBytes
)
