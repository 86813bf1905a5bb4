// Package walls holds the test that keeps the dependency walls of the
// design (DESIGN.md section 11, docs/architecture.md): it reads the import
// graph with go list and fails, naming the import path that breaks a wall,
// when a package reaches one it must not.
package walls
