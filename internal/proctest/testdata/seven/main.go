// Command seven exits with status 7: a program for proctest.Build to build.
package main

import "os"

func main() { os.Exit(7) }
