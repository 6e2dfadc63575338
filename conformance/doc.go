// Package conformance runs the Trip protocol's conformance suites: the
// server suite against a running server (RunServer) and the client suite
// against a client run under the exec contract or connecting to a listening
// address (RunClient).
//
// A scenario is a script embedded from scenarios/server and scenarios/client
// (a .txtar file whose name is its ID and whose first line is the MUST or
// SHOULD sentence it checks, citing PROTOCOL.md). The runner (runner.go,
// schedule.go) runs the scripts in parallel through the project's own script
// engine (internal/script), longest-waiting first, with retries and
// Ctrl-C; each line is one of the suite's commands (server_cmds*.go,
// client_cmds*.go: named functions with typed flags that return errors).
// A peer's fault is returned as a check.Finding, whose ID groups failures
// into the report's causes; the rules that can be seen in the bytes of one
// connection are package check's, fed by the suites as bytes arrive
// (observe.go for replies, the client suite's request reader for requests).
// Misbehaving replies are written by package fakes (client_reply.go maps the
// serve command's flags to a fakes.Reply).
//
// The results are values (model.go: Report, Result, Summary, Cause) with a
// bounded wire trace each (trace.go); package conformance/report writes them
// as text, JSON, JUnit and HTML. The checks of captures (pcap check) and
// replay are package conformance/capture; the suites inside go test are
// package conformance/conformancetest.
//
// Bounds: every read from a peer has a deadline and a byte budget
// (ReplyBudget for a reply, maxStdout/maxStderr for a client's output), a
// script's log and each result's trace are capped, and a run's memory does
// not grow with what the peer sends.
package conformance
