set terminal svg size 1200,520 dynamic font 'sans,11'
set output 'time_ratio.svg'
set title 'Wall time relative to sys (lower is better)'
set ylabel 'time / sys time'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -35 scale 0
set key top left horizontal
set grid ytics
set datafile missing 'NaN'
unset logscale y
set yrange [0:*]
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#444444'
plot for [i=2:3] 'time_ratio.dat' using i:xtic(1) title columnheader(i)
unset arrow 1
set terminal pngcairo size 1200,520 font 'sans,10'
set output 'time_ratio.png'
set title 'Wall time relative to sys (lower is better)'
set ylabel 'time / sys time'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -35 scale 0
set key top left horizontal
set grid ytics
set datafile missing 'NaN'
unset logscale y
set yrange [0:*]
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#444444'
plot for [i=2:3] 'time_ratio.dat' using i:xtic(1) title columnheader(i)
unset arrow 1
set terminal svg size 1200,520 dynamic font 'sans,11'
set output 'rss_ratio.svg'
set title 'Peak RSS relative to sys (lower is better)'
set ylabel 'peak RSS / sys peak RSS'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -35 scale 0
set key top left horizontal
set grid ytics
set datafile missing 'NaN'
unset logscale y
set yrange [0:*]
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#444444'
plot for [i=2:3] 'rss_ratio.dat' using i:xtic(1) title columnheader(i)
unset arrow 1
set terminal pngcairo size 1200,520 font 'sans,10'
set output 'rss_ratio.png'
set title 'Peak RSS relative to sys (lower is better)'
set ylabel 'peak RSS / sys peak RSS'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -35 scale 0
set key top left horizontal
set grid ytics
set datafile missing 'NaN'
unset logscale y
set yrange [0:*]
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#444444'
plot for [i=2:3] 'rss_ratio.dat' using i:xtic(1) title columnheader(i)
unset arrow 1
set terminal svg size 1200,520 dynamic font 'sans,11'
set output 'latency_p99.svg'
set title 'p99 latency of one allocator call (sampled; lower is better)'
set ylabel 'ns'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -35 scale 0
set key top left horizontal
set grid ytics
set datafile missing 'NaN'
set logscale y
plot for [i=2:3] 'latency_p99.dat' using i:xtic(1) title columnheader(i)
unset arrow 1
set terminal pngcairo size 1200,520 font 'sans,10'
set output 'latency_p99.png'
set title 'p99 latency of one allocator call (sampled; lower is better)'
set ylabel 'ns'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -35 scale 0
set key top left horizontal
set grid ytics
set datafile missing 'NaN'
set logscale y
plot for [i=2:3] 'latency_p99.dat' using i:xtic(1) title columnheader(i)
unset arrow 1
set terminal svg size 1600,1540 dynamic font 'sans,9'
set output 'latency_cdf.svg'
reset
set datafile missing 'NaN'
set logscale x
set yrange [0:1]
set grid
set key bottom right
set xlabel 'ns (log)'
set ylabel 'fraction of calls'
set multiplot layout 5,4 title 'Latency CDF of one allocator call (sampled)'
set title 'glibc-simple'
plot for [c=2:3] 'latency_cdf.dat' index 0 using 1:c with steps title columnheader(c)
set title 'glibc-thread'
plot for [c=2:3] 'latency_cdf.dat' index 1 using 1:c with steps title columnheader(c)
set title 'larson'
plot for [c=2:3] 'latency_cdf.dat' index 2 using 1:c with steps title columnheader(c)
set title 'xmalloc'
plot for [c=2:3] 'latency_cdf.dat' index 3 using 1:c with steps title columnheader(c)
set title 'cache-thrash'
plot for [c=2:3] 'latency_cdf.dat' index 4 using 1:c with steps title columnheader(c)
set title 'cache-scratch'
plot for [c=2:3] 'latency_cdf.dat' index 5 using 1:c with steps title columnheader(c)
set title 'mstress'
plot for [c=2:3] 'latency_cdf.dat' index 6 using 1:c with steps title columnheader(c)
set title 'rptest'
plot for [c=2:3] 'latency_cdf.dat' index 7 using 1:c with steps title columnheader(c)
set title 'small-churn'
plot for [c=2:3] 'latency_cdf.dat' index 8 using 1:c with steps title columnheader(c)
set title 'alloc-test'
plot for [c=2:3] 'latency_cdf.dat' index 9 using 1:c with steps title columnheader(c)
set title 'app-objects'
plot for [c=2:3] 'latency_cdf.dat' index 10 using 1:c with steps title columnheader(c)
set title 'tier-walk'
plot for [c=2:3] 'latency_cdf.dat' index 11 using 1:c with steps title columnheader(c)
set title 'lifo-small'
plot for [c=2:3] 'latency_cdf.dat' index 12 using 1:c with steps title columnheader(c)
set title 'server-mt'
plot for [c=2:3] 'latency_cdf.dat' index 13 using 1:c with steps title columnheader(c)
set title 'malloc-large'
plot for [c=2:3] 'latency_cdf.dat' index 14 using 1:c with steps title columnheader(c)
set title 'realloc-growth'
plot for [c=2:3] 'latency_cdf.dat' index 15 using 1:c with steps title columnheader(c)
set title 'fragmentation'
plot for [c=2:3] 'latency_cdf.dat' index 16 using 1:c with steps title columnheader(c)
unset multiplot
set terminal pngcairo size 1600,1540 font 'sans,8'
set output 'latency_cdf.png'
reset
set datafile missing 'NaN'
set logscale x
set yrange [0:1]
set grid
set key bottom right
set xlabel 'ns (log)'
set ylabel 'fraction of calls'
set multiplot layout 5,4 title 'Latency CDF of one allocator call (sampled)'
set title 'glibc-simple'
plot for [c=2:3] 'latency_cdf.dat' index 0 using 1:c with steps title columnheader(c)
set title 'glibc-thread'
plot for [c=2:3] 'latency_cdf.dat' index 1 using 1:c with steps title columnheader(c)
set title 'larson'
plot for [c=2:3] 'latency_cdf.dat' index 2 using 1:c with steps title columnheader(c)
set title 'xmalloc'
plot for [c=2:3] 'latency_cdf.dat' index 3 using 1:c with steps title columnheader(c)
set title 'cache-thrash'
plot for [c=2:3] 'latency_cdf.dat' index 4 using 1:c with steps title columnheader(c)
set title 'cache-scratch'
plot for [c=2:3] 'latency_cdf.dat' index 5 using 1:c with steps title columnheader(c)
set title 'mstress'
plot for [c=2:3] 'latency_cdf.dat' index 6 using 1:c with steps title columnheader(c)
set title 'rptest'
plot for [c=2:3] 'latency_cdf.dat' index 7 using 1:c with steps title columnheader(c)
set title 'small-churn'
plot for [c=2:3] 'latency_cdf.dat' index 8 using 1:c with steps title columnheader(c)
set title 'alloc-test'
plot for [c=2:3] 'latency_cdf.dat' index 9 using 1:c with steps title columnheader(c)
set title 'app-objects'
plot for [c=2:3] 'latency_cdf.dat' index 10 using 1:c with steps title columnheader(c)
set title 'tier-walk'
plot for [c=2:3] 'latency_cdf.dat' index 11 using 1:c with steps title columnheader(c)
set title 'lifo-small'
plot for [c=2:3] 'latency_cdf.dat' index 12 using 1:c with steps title columnheader(c)
set title 'server-mt'
plot for [c=2:3] 'latency_cdf.dat' index 13 using 1:c with steps title columnheader(c)
set title 'malloc-large'
plot for [c=2:3] 'latency_cdf.dat' index 14 using 1:c with steps title columnheader(c)
set title 'realloc-growth'
plot for [c=2:3] 'latency_cdf.dat' index 15 using 1:c with steps title columnheader(c)
set title 'fragmentation'
plot for [c=2:3] 'latency_cdf.dat' index 16 using 1:c with steps title columnheader(c)
unset multiplot
