# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_oms_global_optspecs
    string join \n config= data-dir= storage-root= log-format= v/verbose q/quiet h/help V/version
end

function __fish_oms_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_oms_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_oms_using_subcommand
    set -l cmd (__fish_oms_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c oms -n "__fish_oms_needs_command" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_needs_command" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_needs_command" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_needs_command" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_needs_command" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_needs_command" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oms -n "__fish_oms_needs_command" -s V -l version -d 'Print version'
complete -c oms -n "__fish_oms_needs_command" -f -a "submit" -d 'Check an order file (a local path or s3://bucket/key) and queue it for ingest; prints the job id'
complete -c oms -n "__fish_oms_needs_command" -f -a "ingest" -d 'Consume queued files: validate, store (on_hold), publish; runs until Ctrl-C'
complete -c oms -n "__fish_oms_needs_command" -f -a "fulfil" -d 'Consume order events: reserve inventory, on_hold -> new_order; runs until Ctrl-C'
complete -c oms -n "__fish_oms_needs_command" -f -a "orders" -d 'Query stored orders'
complete -c oms -n "__fish_oms_needs_command" -f -a "jobs" -d 'Query bulk-order jobs'
complete -c oms -n "__fish_oms_needs_command" -f -a "inventory" -d 'The embedded warehouse\'s stock'
complete -c oms -n "__fish_oms_needs_command" -f -a "dlq" -d 'Messages that could not be processed after the maximum number of receives'
complete -c oms -n "__fish_oms_needs_command" -f -a "status" -d 'The pipeline on one screen: jobs, queue depth, consumer lag, orders, last error'
complete -c oms -n "__fish_oms_needs_command" -f -a "doctor" -d 'Check the configuration and every configured backend'
complete -c oms -n "__fish_oms_needs_command" -f -a "wms" -d 'The reference warehouse service over HTTP'
complete -c oms -n "__fish_oms_needs_command" -f -a "serve" -d 'The bulkorder HTTP API and read-only order and job queries'
complete -c oms -n "__fish_oms_needs_command" -f -a "token" -d 'Seller-scoped API tokens of `oms serve` (the tokens file, OMS_API_TOKENS_FILE)'
complete -c oms -n "__fish_oms_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c oms -n "__fish_oms_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oms -n "__fish_oms_using_subcommand submit" -s s -l seller -d 'The submitting seller; rows of other sellers are rejected (asked for on a terminal when missing)' -r
complete -c oms -n "__fish_oms_using_subcommand submit" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand submit" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand submit" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand submit" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand submit" -l json -d 'Print the result as JSON'
complete -c oms -n "__fish_oms_using_subcommand submit" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand submit" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand submit" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand ingest" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand ingest" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand ingest" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand ingest" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand ingest" -l drain -d 'Process everything queued (waiting for in-flight messages), then exit'
complete -c oms -n "__fish_oms_using_subcommand ingest" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand ingest" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand ingest" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand fulfil" -l group -d 'Consumer group [default: oms-fulfil]' -r
complete -c oms -n "__fish_oms_using_subcommand fulfil" -l batch -d 'Events taken per batch (one transaction on the embedded default) [default: 20000 embedded, 500 with a remote warehouse, 25 with a remote store]' -r
complete -c oms -n "__fish_oms_using_subcommand fulfil" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand fulfil" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand fulfil" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand fulfil" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand fulfil" -l drain -d 'Process every published event (until the group\'s offsets reach the end), then exit'
complete -c oms -n "__fish_oms_using_subcommand fulfil" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand fulfil" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand fulfil" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand orders; and not __fish_seen_subcommand_from ls show retry help" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand orders; and not __fish_seen_subcommand_from ls show retry help" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand orders; and not __fish_seen_subcommand_from ls show retry help" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand orders; and not __fish_seen_subcommand_from ls show retry help" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand orders; and not __fish_seen_subcommand_from ls show retry help" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand orders; and not __fish_seen_subcommand_from ls show retry help" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand orders; and not __fish_seen_subcommand_from ls show retry help" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand orders; and not __fish_seen_subcommand_from ls show retry help" -f -a "ls" -d 'List orders (oldest first)'
complete -c oms -n "__fish_oms_using_subcommand orders; and not __fish_seen_subcommand_from ls show retry help" -f -a "show" -d 'One order with its items and status history'
complete -c oms -n "__fish_oms_using_subcommand orders; and not __fish_seen_subcommand_from ls show retry help" -f -a "retry" -d 'Publish on_hold orders again so `oms fulfil` tries them again (after a restock)'
complete -c oms -n "__fish_oms_using_subcommand orders; and not __fish_seen_subcommand_from ls show retry help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from ls" -l status -d 'on_hold or new_order' -r
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from ls" -l seller -r
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from ls" -l hub -d 'Orders with at least one item from this hub' -r
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from ls" -l job -d 'Orders stored by this job (its id, or the start of it as the tables show it)' -r
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from ls" -l since -d 'Created at or after: RFC 3339 (2026-11-29T10:00:00Z), a date, or an age (30m, 2h, 7d)' -r
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from ls" -l limit -r
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from ls" -s o -l output -d 'Output format' -r -f -a "table\t'Fitted to the terminal (piped: 120 columns, or COLUMNS); short ids, ages'
wide\t'Every column, each as wide as its values'
json\t'Full values (whole ids, RFC 3339 times)'
csv\t'Full values (whole ids, RFC 3339 times)'"
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from ls" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from ls" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from ls" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from ls" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from show" -l seller -d 'Needed when several sellers have an order with this id' -r
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format' -r -f -a "table\t'Fitted to the terminal (piped: 120 columns, or COLUMNS); short ids, ages'
wide\t'Every column, each as wide as its values'
json\t'Full values (whole ids, RFC 3339 times)'
csv\t'Full values (whole ids, RFC 3339 times)'"
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from show" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from show" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from show" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from show" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from retry" -l status -d 'on_hold or new_order' -r
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from retry" -l seller -r
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from retry" -l hub -d 'Orders with at least one item from this hub' -r
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from retry" -l job -d 'Orders stored by this job (its id, or the start of it as the tables show it)' -r
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from retry" -l since -d 'Created at or after: RFC 3339 (2026-11-29T10:00:00Z), a date, or an age (30m, 2h, 7d)' -r
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from retry" -l limit -d 'At most this many orders' -r
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from retry" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from retry" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from retry" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from retry" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from retry" -s y -l yes -d 'Do not ask for confirmation (required off a terminal)'
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from retry" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from retry" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from retry" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List orders (oldest first)'
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from help" -f -a "show" -d 'One order with its items and status history'
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from help" -f -a "retry" -d 'Publish on_hold orders again so `oms fulfil` tries them again (after a restock)'
complete -c oms -n "__fish_oms_using_subcommand orders; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oms -n "__fish_oms_using_subcommand jobs; and not __fish_seen_subcommand_from ls show rejects help" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand jobs; and not __fish_seen_subcommand_from ls show rejects help" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand jobs; and not __fish_seen_subcommand_from ls show rejects help" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand jobs; and not __fish_seen_subcommand_from ls show rejects help" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand jobs; and not __fish_seen_subcommand_from ls show rejects help" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand jobs; and not __fish_seen_subcommand_from ls show rejects help" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand jobs; and not __fish_seen_subcommand_from ls show rejects help" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand jobs; and not __fish_seen_subcommand_from ls show rejects help" -f -a "ls" -d 'List jobs, newest first'
complete -c oms -n "__fish_oms_using_subcommand jobs; and not __fish_seen_subcommand_from ls show rejects help" -f -a "show" -d 'One job: file, seller, state, counts and every reject with its row'
complete -c oms -n "__fish_oms_using_subcommand jobs; and not __fish_seen_subcommand_from ls show rejects help" -f -a "rejects" -d 'The rejected rows of a job as CSV (the file\'s own columns, then row, column and reason), for the seller to fix and submit again'
complete -c oms -n "__fish_oms_using_subcommand jobs; and not __fish_seen_subcommand_from ls show rejects help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from ls" -l limit -r
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from ls" -s o -l output -d 'Output format' -r -f -a "table\t'Fitted to the terminal (piped: 120 columns, or COLUMNS); short ids, ages'
wide\t'Every column, each as wide as its values'
json\t'Full values (whole ids, RFC 3339 times)'
csv\t'Full values (whole ids, RFC 3339 times)'"
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from ls" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from ls" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from ls" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from ls" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format' -r -f -a "table\t'Fitted to the terminal (piped: 120 columns, or COLUMNS); short ids, ages'
wide\t'Every column, each as wide as its values'
json\t'Full values (whole ids, RFC 3339 times)'
csv\t'Full values (whole ids, RFC 3339 times)'"
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from show" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from show" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from show" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from show" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from rejects" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from rejects" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from rejects" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from rejects" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from rejects" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from rejects" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from rejects" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List jobs, newest first'
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from help" -f -a "show" -d 'One job: file, seller, state, counts and every reject with its row'
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from help" -f -a "rejects" -d 'The rejected rows of a job as CSV (the file\'s own columns, then row, column and reason), for the seller to fix and submit again'
complete -c oms -n "__fish_oms_using_subcommand jobs; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oms -n "__fish_oms_using_subcommand inventory; and not __fish_seen_subcommand_from load ls help" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand inventory; and not __fish_seen_subcommand_from load ls help" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand inventory; and not __fish_seen_subcommand_from load ls help" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand inventory; and not __fish_seen_subcommand_from load ls help" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand inventory; and not __fish_seen_subcommand_from load ls help" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand inventory; and not __fish_seen_subcommand_from load ls help" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand inventory; and not __fish_seen_subcommand_from load ls help" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand inventory; and not __fish_seen_subcommand_from load ls help" -f -a "load" -d 'Set stock from a CSV file with columns hub_id,sku_id,quantity'
complete -c oms -n "__fish_oms_using_subcommand inventory; and not __fish_seen_subcommand_from load ls help" -f -a "ls" -d 'List stock'
complete -c oms -n "__fish_oms_using_subcommand inventory; and not __fish_seen_subcommand_from load ls help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from load" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from load" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from load" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from load" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from load" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from load" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from load" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from ls" -s o -l output -d 'Output format' -r -f -a "table\t'Fitted to the terminal (piped: 120 columns, or COLUMNS); short ids, ages'
wide\t'Every column, each as wide as its values'
json\t'Full values (whole ids, RFC 3339 times)'
csv\t'Full values (whole ids, RFC 3339 times)'"
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from ls" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from ls" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from ls" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from ls" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from help" -f -a "load" -d 'Set stock from a CSV file with columns hub_id,sku_id,quantity'
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List stock'
complete -c oms -n "__fish_oms_using_subcommand inventory; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oms -n "__fish_oms_using_subcommand dlq; and not __fish_seen_subcommand_from ls redrive purge help" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand dlq; and not __fish_seen_subcommand_from ls redrive purge help" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand dlq; and not __fish_seen_subcommand_from ls redrive purge help" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand dlq; and not __fish_seen_subcommand_from ls redrive purge help" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand dlq; and not __fish_seen_subcommand_from ls redrive purge help" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand dlq; and not __fish_seen_subcommand_from ls redrive purge help" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand dlq; and not __fish_seen_subcommand_from ls redrive purge help" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand dlq; and not __fish_seen_subcommand_from ls redrive purge help" -f -a "ls" -d 'List dead-lettered messages'
complete -c oms -n "__fish_oms_using_subcommand dlq; and not __fish_seen_subcommand_from ls redrive purge help" -f -a "redrive" -d 'Move every dead-lettered message back to the queue'
complete -c oms -n "__fish_oms_using_subcommand dlq; and not __fish_seen_subcommand_from ls redrive purge help" -f -a "purge" -d 'Delete every dead-lettered message for good'
complete -c oms -n "__fish_oms_using_subcommand dlq; and not __fish_seen_subcommand_from ls redrive purge help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l limit -r
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from ls" -s o -l output -d 'Output format' -r -f -a "table\t'Fitted to the terminal (piped: 120 columns, or COLUMNS); short ids, ages'
wide\t'Every column, each as wide as its values'
json\t'Full values (whole ids, RFC 3339 times)'
csv\t'Full values (whole ids, RFC 3339 times)'"
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -s y -l yes -d 'Do not ask for confirmation (required off a terminal)'
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from purge" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from purge" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from purge" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from purge" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from purge" -s y -l yes -d 'Do not ask for confirmation (required off a terminal)'
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from purge" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from purge" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from purge" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List dead-lettered messages'
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "redrive" -d 'Move every dead-lettered message back to the queue'
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "purge" -d 'Delete every dead-lettered message for good'
complete -c oms -n "__fish_oms_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oms -n "__fish_oms_using_subcommand status" -s w -l watch -d 'Redraw in place every SECS seconds until Ctrl-C [default: 2]' -r
complete -c oms -n "__fish_oms_using_subcommand status" -s o -l output -d 'Output format (json: the figures once)' -r -f -a "table\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand status" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand status" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand status" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand status" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand status" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand status" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand status" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand doctor" -s o -l output -d 'Output format' -r -f -a "table\t'Fitted to the terminal (piped: 120 columns, or COLUMNS); short ids, ages'
wide\t'Every column, each as wide as its values'
json\t'Full values (whole ids, RFC 3339 times)'
csv\t'Full values (whole ids, RFC 3339 times)'"
complete -c oms -n "__fish_oms_using_subcommand doctor" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand doctor" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand doctor" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand doctor" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand doctor" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand doctor" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oms -n "__fish_oms_using_subcommand wms; and not __fish_seen_subcommand_from serve help" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand wms; and not __fish_seen_subcommand_from serve help" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand wms; and not __fish_seen_subcommand_from serve help" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand wms; and not __fish_seen_subcommand_from serve help" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand wms; and not __fish_seen_subcommand_from serve help" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand wms; and not __fish_seen_subcommand_from serve help" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand wms; and not __fish_seen_subcommand_from serve help" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand wms; and not __fish_seen_subcommand_from serve help" -f -a "serve" -d 'Serve the embedded inventory of the data dir as a warehouse over HTTP: the original wms-service endpoints plus an all-or-nothing, idempotent batch reserve'
complete -c oms -n "__fish_oms_using_subcommand wms; and not __fish_seen_subcommand_from serve help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oms -n "__fish_oms_using_subcommand wms; and __fish_seen_subcommand_from serve" -l bind -d 'Address to listen on' -r
complete -c oms -n "__fish_oms_using_subcommand wms; and __fish_seen_subcommand_from serve" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand wms; and __fish_seen_subcommand_from serve" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand wms; and __fish_seen_subcommand_from serve" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand wms; and __fish_seen_subcommand_from serve" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand wms; and __fish_seen_subcommand_from serve" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand wms; and __fish_seen_subcommand_from serve" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand wms; and __fish_seen_subcommand_from serve" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand wms; and __fish_seen_subcommand_from help" -f -a "serve" -d 'Serve the embedded inventory of the data dir as a warehouse over HTTP: the original wms-service endpoints plus an all-or-nothing, idempotent batch reserve'
complete -c oms -n "__fish_oms_using_subcommand wms; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oms -n "__fish_oms_using_subcommand serve" -l bind -d 'Address to listen on' -r
complete -c oms -n "__fish_oms_using_subcommand serve" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand serve" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand serve" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand serve" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand serve" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand serve" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand serve" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand token; and not __fish_seen_subcommand_from add ls rm help" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand token; and not __fish_seen_subcommand_from add ls rm help" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand token; and not __fish_seen_subcommand_from add ls rm help" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand token; and not __fish_seen_subcommand_from add ls rm help" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand token; and not __fish_seen_subcommand_from add ls rm help" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand token; and not __fish_seen_subcommand_from add ls rm help" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand token; and not __fish_seen_subcommand_from add ls rm help" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand token; and not __fish_seen_subcommand_from add ls rm help" -f -a "add" -d 'Make a new token for some sellers (or all); prints it once, stores its SHA-256'
complete -c oms -n "__fish_oms_using_subcommand token; and not __fish_seen_subcommand_from add ls rm help" -f -a "ls" -d 'List the tokens: names, sellers, when each was added (never a token)'
complete -c oms -n "__fish_oms_using_subcommand token; and not __fish_seen_subcommand_from add ls rm help" -f -a "rm" -d 'Remove a token (a running `oms serve` refuses it once it has read the file again)'
complete -c oms -n "__fish_oms_using_subcommand token; and not __fish_seen_subcommand_from add ls rm help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from add" -s s -l seller -d 'A seller the token may submit for and read (repeat for several)' -r
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from add" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from add" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from add" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from add" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from add" -l all-sellers -d 'The token may act for every seller'
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from add" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from ls" -s o -l output -d 'Output format' -r -f -a "table\t'Fitted to the terminal (piped: 120 columns, or COLUMNS); short ids, ages'
wide\t'Every column, each as wide as its values'
json\t'Full values (whole ids, RFC 3339 times)'
csv\t'Full values (whole ids, RFC 3339 times)'"
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from ls" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from ls" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from ls" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from ls" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from rm" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from rm" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from rm" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from rm" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from rm" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from rm" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "add" -d 'Make a new token for some sellers (or all); prints it once, stores its SHA-256'
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List the tokens: names, sellers, when each was added (never a token)'
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Remove a token (a running `oms serve` refuses it once it has read the file again)'
complete -c oms -n "__fish_oms_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oms -n "__fish_oms_using_subcommand completions" -l config -d 'Configuration file [default: ./oms.toml when it exists]' -r -F
complete -c oms -n "__fish_oms_using_subcommand completions" -l data-dir -d 'Directory of the embedded database [default: ./.oms]' -r -F
complete -c oms -n "__fish_oms_using_subcommand completions" -l storage-root -d 'Directory every submitted local file must be inside [default: ./storage]' -r -F
complete -c oms -n "__fish_oms_using_subcommand completions" -l log-format -d 'Log format of the messages on stderr' -r -f -a "text\t''
json\t''"
complete -c oms -n "__fish_oms_using_subcommand completions" -s v -l verbose -d 'More log detail (-v debug, -vv trace); RUST_LOG overrides'
complete -c oms -n "__fish_oms_using_subcommand completions" -s q -l quiet -d 'Only warnings and errors on stderr'
complete -c oms -n "__fish_oms_using_subcommand completions" -s h -l help -d 'Print help'
complete -c oms -n "__fish_oms_using_subcommand help; and not __fish_seen_subcommand_from submit ingest fulfil orders jobs inventory dlq status doctor wms serve token completions help" -f -a "submit" -d 'Check an order file (a local path or s3://bucket/key) and queue it for ingest; prints the job id'
complete -c oms -n "__fish_oms_using_subcommand help; and not __fish_seen_subcommand_from submit ingest fulfil orders jobs inventory dlq status doctor wms serve token completions help" -f -a "ingest" -d 'Consume queued files: validate, store (on_hold), publish; runs until Ctrl-C'
complete -c oms -n "__fish_oms_using_subcommand help; and not __fish_seen_subcommand_from submit ingest fulfil orders jobs inventory dlq status doctor wms serve token completions help" -f -a "fulfil" -d 'Consume order events: reserve inventory, on_hold -> new_order; runs until Ctrl-C'
complete -c oms -n "__fish_oms_using_subcommand help; and not __fish_seen_subcommand_from submit ingest fulfil orders jobs inventory dlq status doctor wms serve token completions help" -f -a "orders" -d 'Query stored orders'
complete -c oms -n "__fish_oms_using_subcommand help; and not __fish_seen_subcommand_from submit ingest fulfil orders jobs inventory dlq status doctor wms serve token completions help" -f -a "jobs" -d 'Query bulk-order jobs'
complete -c oms -n "__fish_oms_using_subcommand help; and not __fish_seen_subcommand_from submit ingest fulfil orders jobs inventory dlq status doctor wms serve token completions help" -f -a "inventory" -d 'The embedded warehouse\'s stock'
complete -c oms -n "__fish_oms_using_subcommand help; and not __fish_seen_subcommand_from submit ingest fulfil orders jobs inventory dlq status doctor wms serve token completions help" -f -a "dlq" -d 'Messages that could not be processed after the maximum number of receives'
complete -c oms -n "__fish_oms_using_subcommand help; and not __fish_seen_subcommand_from submit ingest fulfil orders jobs inventory dlq status doctor wms serve token completions help" -f -a "status" -d 'The pipeline on one screen: jobs, queue depth, consumer lag, orders, last error'
complete -c oms -n "__fish_oms_using_subcommand help; and not __fish_seen_subcommand_from submit ingest fulfil orders jobs inventory dlq status doctor wms serve token completions help" -f -a "doctor" -d 'Check the configuration and every configured backend'
complete -c oms -n "__fish_oms_using_subcommand help; and not __fish_seen_subcommand_from submit ingest fulfil orders jobs inventory dlq status doctor wms serve token completions help" -f -a "wms" -d 'The reference warehouse service over HTTP'
complete -c oms -n "__fish_oms_using_subcommand help; and not __fish_seen_subcommand_from submit ingest fulfil orders jobs inventory dlq status doctor wms serve token completions help" -f -a "serve" -d 'The bulkorder HTTP API and read-only order and job queries'
complete -c oms -n "__fish_oms_using_subcommand help; and not __fish_seen_subcommand_from submit ingest fulfil orders jobs inventory dlq status doctor wms serve token completions help" -f -a "token" -d 'Seller-scoped API tokens of `oms serve` (the tokens file, OMS_API_TOKENS_FILE)'
complete -c oms -n "__fish_oms_using_subcommand help; and not __fish_seen_subcommand_from submit ingest fulfil orders jobs inventory dlq status doctor wms serve token completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c oms -n "__fish_oms_using_subcommand help; and not __fish_seen_subcommand_from submit ingest fulfil orders jobs inventory dlq status doctor wms serve token completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oms -n "__fish_oms_using_subcommand help; and __fish_seen_subcommand_from orders" -f -a "ls" -d 'List orders (oldest first)'
complete -c oms -n "__fish_oms_using_subcommand help; and __fish_seen_subcommand_from orders" -f -a "show" -d 'One order with its items and status history'
complete -c oms -n "__fish_oms_using_subcommand help; and __fish_seen_subcommand_from orders" -f -a "retry" -d 'Publish on_hold orders again so `oms fulfil` tries them again (after a restock)'
complete -c oms -n "__fish_oms_using_subcommand help; and __fish_seen_subcommand_from jobs" -f -a "ls" -d 'List jobs, newest first'
complete -c oms -n "__fish_oms_using_subcommand help; and __fish_seen_subcommand_from jobs" -f -a "show" -d 'One job: file, seller, state, counts and every reject with its row'
complete -c oms -n "__fish_oms_using_subcommand help; and __fish_seen_subcommand_from jobs" -f -a "rejects" -d 'The rejected rows of a job as CSV (the file\'s own columns, then row, column and reason), for the seller to fix and submit again'
complete -c oms -n "__fish_oms_using_subcommand help; and __fish_seen_subcommand_from inventory" -f -a "load" -d 'Set stock from a CSV file with columns hub_id,sku_id,quantity'
complete -c oms -n "__fish_oms_using_subcommand help; and __fish_seen_subcommand_from inventory" -f -a "ls" -d 'List stock'
complete -c oms -n "__fish_oms_using_subcommand help; and __fish_seen_subcommand_from dlq" -f -a "ls" -d 'List dead-lettered messages'
complete -c oms -n "__fish_oms_using_subcommand help; and __fish_seen_subcommand_from dlq" -f -a "redrive" -d 'Move every dead-lettered message back to the queue'
complete -c oms -n "__fish_oms_using_subcommand help; and __fish_seen_subcommand_from dlq" -f -a "purge" -d 'Delete every dead-lettered message for good'
complete -c oms -n "__fish_oms_using_subcommand help; and __fish_seen_subcommand_from wms" -f -a "serve" -d 'Serve the embedded inventory of the data dir as a warehouse over HTTP: the original wms-service endpoints plus an all-or-nothing, idempotent batch reserve'
complete -c oms -n "__fish_oms_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "add" -d 'Make a new token for some sellers (or all); prints it once, stores its SHA-256'
complete -c oms -n "__fish_oms_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "ls" -d 'List the tokens: names, sellers, when each was added (never a token)'
complete -c oms -n "__fish_oms_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "rm" -d 'Remove a token (a running `oms serve` refuses it once it has read the file again)'
