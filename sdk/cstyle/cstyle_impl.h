/* cstyle internals shared by render.c and dialects.c. */
#ifndef CG_CSTYLE_IMPL_H
#define CG_CSTYLE_IMPL_H

/* Emulated float16 / bfloat16 helper templates (see dialects.c). */
extern const char cg__cstyle_half_tpl[];
extern const char cg__cstyle_bf16_tpl[];

#endif
