// Package e2e holds whole-stack tests that run the real sluice processes, inject faults,
// and the project's load tool.
package e2e
