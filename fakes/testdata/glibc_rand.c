/* glibc_rand.c: prints glibc's rand() sequences, the reference for the Go
 * reimplementation in fakes/rand.go.
 *
 * Usage: glibc_rand N SEED...   (or seeds, one per line, on stdin)
 * For each seed it calls srand(SEED) and prints one line:
 *     SEED v1 v2 ... vN
 * where vi is the i-th rand() after srand. SEED is read as an unsigned
 * 32-bit number, as srand takes it.
 *
 * testdata/glibc-rand.txt was made with:
 *     gcc -O2 -o /tmp/glibc_rand glibc_rand.c && /tmp/glibc_rand 12 SEEDS...
 */
#include <stdio.h>
#include <stdlib.h>

static void show(unsigned long seed, int n)
{
	srand((unsigned int)seed);
	printf("%lu", seed);
	for (int i = 0; i < n; i++)
		printf(" %d", rand());
	printf("\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: glibc_rand N [SEED...]\n");
		return 2;
	}
	int n = atoi(argv[1]);
	if (argc > 2) {
		for (int i = 2; i < argc; i++)
			show(strtoul(argv[i], NULL, 10), n);
		return 0;
	}
	unsigned long seed;
	while (scanf("%lu", &seed) == 1) {
		show(seed, n);
		fflush(stdout);
	}
	return 0;
}
