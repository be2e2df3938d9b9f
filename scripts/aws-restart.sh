#!/bin/sh
# Functions read their secrets (SurrealDB, NATS, API keys) when an instance
# starts, and the dispatcher when its task starts. After filling or rotating a
# secret, this retires every warm instance of the deployed functions (a
# configuration change makes Lambda start new ones) and starts new dispatcher
# tasks. Usage: scripts/aws-restart.sh [stage]   (needs the aws CLI)
set -eu
stage=${1:-}
prefix=stratum-
stack=StratumDispatcher
if [ -n "$stage" ]; then
	prefix="stratum-$stage-"
	stack="Stratum$(printf %s "$stage" | cut -c1 | tr a-z A-Z)$(printf %s "$stage" | cut -c2-)Dispatcher"
fi
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for fn in $(aws lambda list-functions --query "Functions[?starts_with(FunctionName, '$prefix')].FunctionName" --output text); do
	desc=$(aws lambda get-function-configuration --function-name "$fn" --query Description --output text | sed 's/ (restarted .*)$//')
	aws lambda update-function-configuration --function-name "$fn" --description "$desc (restarted $stamp)" >/dev/null
	echo "restarted $fn"
done
cluster=$(aws cloudformation describe-stack-resources --stack-name "$stack" \
	--query "StackResources[?ResourceType=='AWS::ECS::Cluster'].PhysicalResourceId" --output text)
service=$(aws cloudformation describe-stack-resources --stack-name "$stack" \
	--query "StackResources[?ResourceType=='AWS::ECS::Service'].PhysicalResourceId" --output text)
aws ecs update-service --cluster "$cluster" --service "$service" --force-new-deployment >/dev/null
echo "new dispatcher deployment on $cluster"
