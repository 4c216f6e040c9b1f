/* model_json.c: not written yet */
#include "model_json.h"
