/* model.c: not written yet */
#include "model.h"
