#compdef mqcli

_mqcli_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _MQCLI_COMPLETE=complete_zsh mqcli)
}

compdef _mqcli_completion mqcli
