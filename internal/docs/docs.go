// Package docs holds the tests of the project's documentation: README.md,
// CONTRIBUTING.md and docs/. It has no code of its own.
package docs
