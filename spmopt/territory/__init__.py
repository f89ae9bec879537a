"""Territory design: assign basic units to territories (inputs -> MILP -> solve -> plan)."""
