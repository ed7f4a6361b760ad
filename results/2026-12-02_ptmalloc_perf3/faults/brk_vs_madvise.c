#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
static long flt(void){struct rusage r; getrusage(RUSAGE_SELF,&r); return r.ru_minflt;}
int main(){
  size_t n = 66*4096;
  char *b = sbrk(0); sbrk(n); for(size_t i=0;i<n;i+=4096) b[i]=1;
  long f0=flt();
  for(int r=0;r<100;r++){ sbrk(-(long)n); sbrk(n); for(size_t i=0;i<n;i+=4096) b[i+8]=1; }
  printf("brk: %ld faults / 100 rounds of 66 pages\n", flt()-f0);
  char *m = mmap(NULL, 1<<30, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0);
  char *h = m + 12345*4096;
  mprotect(h, n, PROT_READ|PROT_WRITE); for(size_t i=0;i<n;i+=4096) h[i]=1;
  f0=flt();
  for(int r=0;r<100;r++){ madvise(h, n, MADV_DONTNEED); for(size_t i=0;i<n;i+=4096) h[i+8]=1; }
  printf("madvise: %ld faults\n", flt()-f0);
  f0=flt();
  for(int r=0;r<100;r++){ madvise(h, n, MADV_DONTNEED); mprotect(h,n,PROT_NONE); mprotect(h,n,PROT_READ|PROT_WRITE); for(size_t i=0;i<n;i+=4096) h[i+8]=1; }
  printf("madvise+mprotect: %ld faults\n", flt()-f0);
  return 0;
}
