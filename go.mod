module github.com/tripcheck/tripcheck

go 1.26
