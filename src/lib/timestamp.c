/* timestamp.c: not written yet */
#include "timestamp.h"
