# gnuplot soak.gp (written by mallet stress --soak)
set datafile separator ','
set key top left
set grid
set xlabel 'seconds'
set ylabel 'MiB'
set yrange [0:*]
set terminal svg size 1120,1200 dynamic
set output 'soak_rss.svg'
set multiplot layout 4,2 title 'Soak: RSS and live data over time'
set title 'nano'
plot 'soak_nano.csv' every ::1 using 2:($3/1024) with lines lw 2 title 'RSS', '' every ::1 using 2:($4/1024) with lines title 'live'
set title 'scalable'
plot 'soak_scalable.csv' every ::1 using 2:($3/1024) with lines lw 2 title 'RSS', '' every ::1 using 2:($4/1024) with lines title 'live'
set title 'ptmalloc'
plot 'soak_ptmalloc.csv' every ::1 using 2:($3/1024) with lines lw 2 title 'RSS', '' every ::1 using 2:($4/1024) with lines title 'live'
set title 'sys'
plot 'soak_sys.csv' every ::1 using 2:($3/1024) with lines lw 2 title 'RSS', '' every ::1 using 2:($4/1024) with lines title 'live'
set title 'je'
plot 'soak_je.csv' every ::1 using 2:($3/1024) with lines lw 2 title 'RSS', '' every ::1 using 2:($4/1024) with lines title 'live'
set title 'mi'
plot 'soak_mi.csv' every ::1 using 2:($3/1024) with lines lw 2 title 'RSS', '' every ::1 using 2:($4/1024) with lines title 'live'
set title 'tc'
plot 'soak_tc.csv' every ::1 using 2:($3/1024) with lines lw 2 title 'RSS', '' every ::1 using 2:($4/1024) with lines title 'live'
unset multiplot
unset output
set terminal pngcairo size 1120,1200
set output 'soak_rss.png'
set multiplot layout 4,2 title 'Soak: RSS and live data over time'
set title 'nano'
plot 'soak_nano.csv' every ::1 using 2:($3/1024) with lines lw 2 title 'RSS', '' every ::1 using 2:($4/1024) with lines title 'live'
set title 'scalable'
plot 'soak_scalable.csv' every ::1 using 2:($3/1024) with lines lw 2 title 'RSS', '' every ::1 using 2:($4/1024) with lines title 'live'
set title 'ptmalloc'
plot 'soak_ptmalloc.csv' every ::1 using 2:($3/1024) with lines lw 2 title 'RSS', '' every ::1 using 2:($4/1024) with lines title 'live'
set title 'sys'
plot 'soak_sys.csv' every ::1 using 2:($3/1024) with lines lw 2 title 'RSS', '' every ::1 using 2:($4/1024) with lines title 'live'
set title 'je'
plot 'soak_je.csv' every ::1 using 2:($3/1024) with lines lw 2 title 'RSS', '' every ::1 using 2:($4/1024) with lines title 'live'
set title 'mi'
plot 'soak_mi.csv' every ::1 using 2:($3/1024) with lines lw 2 title 'RSS', '' every ::1 using 2:($4/1024) with lines title 'live'
set title 'tc'
plot 'soak_tc.csv' every ::1 using 2:($3/1024) with lines lw 2 title 'RSS', '' every ::1 using 2:($4/1024) with lines title 'live'
unset multiplot
unset output
