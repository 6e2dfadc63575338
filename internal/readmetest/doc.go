// Package readmetest runs the README's command examples as a test, so that
// an example that no longer works fails CI.
//
// Every ```sh block of README.md runs, line by line, in bash, in a copy of
// the repository, with a freshly built tripcheck first on PATH. A comment
// on the line before a block changes that:
//
//	<!-- readme-test: skip (why) -->          the block cannot run here
//	<!-- readme-test: skip 1,3 (why) -->      its lines 1 and 3 cannot
//	<!-- readme-test: server -->              the block talks to a server:
//	                                          the test starts the reference
//	                                          server on a free port and puts
//	                                          its address where the block says
//	                                          localhost:6178 or 127.0.0.1:6178
//
// The markers combine: <!-- readme-test: server; skip 1 (why) -->. Each
// line must exit 0 within five minutes.
package readmetest
