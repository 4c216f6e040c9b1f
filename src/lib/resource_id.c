/* resource_id.c: not written yet */
#include "resource_id.h"
