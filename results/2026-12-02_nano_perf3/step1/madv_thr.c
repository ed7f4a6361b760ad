/* madvise(16 KiB, MADV_FREE) + two touches, run on the main thread or on a
 * second thread while main sleeps in pthread_join (the shape of mallet bench). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static int advice;
static void *loop(void *a){
  (void)a;
  size_t sz=64<<20; char*p=mmap(0,sz,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE,-1,0);
  memset(p,1,sz);
  int n=20000; double t0=now();
  for(int i=0;i<n;i++){ char*b=p+((size_t)(i%4096)*16384); b[0]=1; b[8192]=1; madvise(b,16384,advice);}
  double t1=now(); printf("%.2f us per madvise+2 touches\n",(t1-t0)/n*1e6);
  return NULL;
}
int main(int argc,char**argv){
  advice = argc>2 && argv[2][0]=='d' ? MADV_DONTNEED : MADV_FREE;
  if(argc>1 && argv[1][0]=='t'){pthread_t t;pthread_create(&t,NULL,loop,NULL);pthread_join(t,NULL);}
  else loop(NULL);
}
