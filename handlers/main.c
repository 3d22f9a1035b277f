/* placeholder: replaced by the real dispatcher */
#include "imgpipe.h"
#include <stdio.h>
int main(void);
int main(void) { puts("imgpipe " IMGP_VERSION); return 0; }
