#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include "mallet/mallet.h"
static long flt(void){struct rusage r; getrusage(RUSAGE_SELF,&r); return r.ru_minflt;}
int main(int argc,char**argv){
  int use_sys = argc>1;
  mallet_zone_t *z = NULL;
  const mallet_backend_t *b = mallet_backend_find("ptmalloc");
  char err[256];
  if(!use_sys) z = b->create_zone("", err, sizeof err);
  static const size_t sizes[] = {16, 64, 256, 1024, 4096};
  static const unsigned amounts[] = {25, 100, 400, 1600};
  static long res[5][4];
  void **p = malloc(1600 * sizeof *p);
  unsigned reps = 60;
  for (size_t s = 0; s < 5; s++)
    for (size_t a = 0; a < 4; a++) {
      long f0 = flt();
      for (unsigned r = 0; r < reps * 1600 / amounts[a]; r++) {
        for (unsigned i = 0; i < amounts[a]; i++) p[i] = use_sys ? malloc(sizes[s]) : mallet_malloc(z, sizes[s]);
        for (unsigned i = 0; i < amounts[a]; i++) if (use_sys) free(p[i]); else mallet_free(z, p[i]);
      }
      res[s][a] = flt() - f0;
    }
  for (int s = 0; s < 5; s++) for (int a = 0; a < 4; a++) printf("%zu x %u: %ld faults\n", sizes[s], amounts[a], res[s][a]);
  return 0;
}
