/* port.c: not written yet */
#include "port.h"
