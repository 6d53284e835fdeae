// Package layering holds no code: its test checks that the packages keep
// the dependency direction DESIGN.md draws (data flows one way; a stage
// imports only stages to its left or shared leaf packages) and that every
// package says what it is for.
package layering
