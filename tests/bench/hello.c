/* Process start-up benchmark: the smallest useful static program. */
#include <stdio.h>
int main(void) { puts("hello"); return 0; }
