# Bar chart of scripts/bench-mount.sh results: per workload, each system's
# speed relative to native (median, whiskers = min-max over the runs).
# usage: gnuplot -e "datafile='plot.dat'; outfile='results.png'" bench/plot.gp
# plot.dat (from bench/report.py): a header line, then per workload
#   "label" native lo hi bindfs lo hi mergerfs lo hi tierfs-hot lo hi tierfs-inline lo hi
#   tierfs-cold lo hi
# ("?" where a system does not run the workload).
set terminal pngcairo size 1500,700 font "sans,10"
set output outfile
set title "tierfs vs peers: speed relative to native (higher is better; log scale; whiskers = min-max)"
set datafile missing "?"
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.01:4]
set ytics (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 0.8, 1, 1.5, 2, 3, 4)
set grid ytics
set ylabel "speed / native speed"
set xtics rotate by -25 noenhanced
set key top right horizontal noenhanced
set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb "black" dt 2
titles = "native bindfs mergerfs tierfs-hot tierfs-inline tierfs-cold"
colors = "#777777 #e69f00 #56b4e9 #009e73 #cc79a7 #0072b2"
plot for [i=0:5] datafile using (column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) \
  skip 1 title word(titles, i+1) lc rgb word(colors, i+1)
