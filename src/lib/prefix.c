/* prefix.c: not written yet */
#include "prefix.h"
