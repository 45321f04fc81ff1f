/* Private helpers shared by the nn sources: the thread's last nn error. Never installed. */
#ifndef CG_NN_PRIVATE_H
#define CG_NN_PRIVATE_H

#include <stdio.h>

#include "cgrad/nn.h"

/* Records a formatted message as the thread's last nn error; returns st. */
cg_status cg__nn_error(cg_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, appending the core's cg_last_error() (for failures of a core call). */
cg_status cg__nn_core_error(const char *what);
void cg__nn_clear_error(void);

#endif
