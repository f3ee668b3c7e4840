# bash completion for tierfs(8): its commands, each command's flags, the
# mount options after -o (asked of `tierfs mount --list-options`, so never a
# list of its own) and, for umount, the mounted tierfs.
# Installed as PREFIX/share/bash-completion/completions/tierfs.

# _tierfs_mount_options BINARY TYPED — completes the last option of the -o
# list TYPED ("cold_after=60,hot_c").
_tierfs_mount_options() {
  local typed=$2 head="" last=$2 cut="" opts
  if [[ $typed == *,* ]]; then
    head="${typed%,*},"
    last=${typed##*,}
  fi
  opts=$("$1" mount --list-options 2>/dev/null) || return
  opts=${opts//\*/}  # "x-*" completes to "x-"
  mapfile -t COMPREPLY < <(compgen -P "$head" -W "$opts" -- "$last")
  # bash splits the word at the COMP_WORDBREAKS characters (= and : by
  # default): hand back only what follows the last of them.
  [[ $COMP_WORDBREAKS == *=* && $typed == *=* ]] && cut=${typed%=*}=
  [[ $COMP_WORDBREAKS == *:* && ${typed#"$cut"} == *:* ]] && cut=${typed%:*}:
  [[ -n $cut ]] && COMPREPLY=("${COMPREPLY[@]#"$cut"}")
  compopt -o nospace
}

_tierfs() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local flags="--help" paths=files
  COMPREPLY=()
  if ((COMP_CWORD == 1)); then
    mapfile -t COMPREPLY < <(compgen -W "mount status where explain pin unpin migrate umount fsck takeover" -- "$cur")
    return
  fi
  case ${COMP_WORDS[1]} in
    mount)
      # The -o list as typed, whatever COMP_WORDBREAKS split off it.
      local line=${COMP_LINE:0:COMP_POINT} typed="" before
      local -a words
      read -ra words <<<"$line"
      if [[ $line == *[[:space:]] ]]; then
        before=${words[-1]:-}
      else
        typed=${words[-1]}
        before=${words[-2]:-}
      fi
      if [[ $before == -o ]]; then
        _tierfs_mount_options "${COMP_WORDS[0]}" "$typed"
        return
      fi
      flags="-f -o --list-options --help"
      paths=dirs
      ;;
    status) flags="--json --watch --count --help" paths=dirs ;;
    where) flags="--json --summary -s --help" ;;
    explain) flags="--json --help" ;;
    pin | unpin) ;;
    migrate)
      if [[ $prev == --to ]]; then
        mapfile -t COMPREPLY < <(compgen -W "hot cold" -- "$cur")
        return
      fi
      flags="--to --help"
      ;;
    umount | unmount)
      paths=mounts
      ;;
    fsck) flags="--repair --scrub --json --help" paths=dirs ;;
    takeover) paths=dirs ;;
    *) return ;;
  esac
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
  elif [[ $paths == mounts ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(awk '{ i = 7; while ($i != "-") i++;
      if ($(i + 1) == "fuse.tierfs") print $5 }' /proc/self/mountinfo)" -- "$cur")
  elif [[ $paths == dirs ]]; then
    mapfile -t COMPREPLY < <(compgen -d -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}
complete -o filenames -F _tierfs tierfs
