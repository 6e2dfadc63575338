// Package archtest holds tests that check the architecture of the module
// rather than a behaviour: rules that hold across packages, such as "the
// size field of a block is read only in package wire". It has no code of
// its own; its tests parse the module's source with go/parser.
package archtest
