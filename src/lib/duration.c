/* duration.c: not written yet */
#include "duration.h"
