"""The ``machi`` commands: the command line (:mod:`.cli`, ``run``, ``validate``, ``info``)
and the commands it imports only when they are named (:mod:`.export_tiles`,
:mod:`.trees`, :mod:`.view`).

Commands sit at the edge of the house: they parse arguments, call the engine or a domain
package and report; no domain code and no stage imports them.
"""
