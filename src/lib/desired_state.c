/* desired_state.c: not written yet */
#include "desired_state.h"
